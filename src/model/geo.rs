//! Where a file was made, and the areas `"embeddedMetadata.LocationTaken"` searches: a circle
//! (`"lat,lng 5km"`), a box by its diagonal (`"lat,lng|lat,lng"`) and a polygon
//! (`"lat,lng|lat,lng|lat,lng…"`).
//!
//! Every evaluator (SQL on both engines, the search index, the reference) must give the same
//! answer for a point on an area's edge, so an area is reduced here to comparisons and
//! arithmetic that SQL computes exactly as Rust does: no trigonometry at query time. A point
//! is kept with its unit vector (`Located`), and "within d of c" is a dot product with c's
//! unit vector against cos(d / R).

use serde_json::{Map, Value};

/// The mean radius of the Earth (IUGG), in metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Most corners a polygon may have: each is four arguments of one SQL statement.
pub const MAX_POLYGON_POINTS: usize = 100;

/// A position in degrees: latitude in [-90, 90], longitude in [-180, 180].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    pub lat: f64,
    pub lng: f64,
}

impl GeoPoint {
    pub fn new(lat: f64, lng: f64) -> Option<Self> {
        (lat.is_finite() && lng.is_finite() && lat.abs() <= 90.0 && lng.abs() <= 180.0)
            .then_some(GeoPoint { lat, lng })
    }

    /// Where a file says it was made, from its flat `embeddedMetadata`: EXIF's (or XMP's)
    /// `GPSLatitude`/`GPSLongitude` with their `…Ref` hemispheres, else QuickTime's
    /// `GPSCoordinates` or a `GPSPosition` ("lat lng [alt]", signed degrees).
    pub fn from_embedded(embedded: &Map<String, Value>) -> Option<Self> {
        let signed = |value: &str, reference: &str, negative: &str| -> Option<f64> {
            let degrees = number(embedded.get(value)?)?;
            let southern_or_western = embedded
                .get(reference)
                .and_then(Value::as_str)
                .is_some_and(|r| r.trim().eq_ignore_ascii_case(negative));
            // XMP's values carry their sign already; EXIF's are magnitudes.
            Some(if southern_or_western {
                -degrees.abs()
            } else {
                degrees
            })
        };
        if let (Some(lat), Some(lng)) = (
            signed("GPSLatitude", "GPSLatitudeRef", "S"),
            signed("GPSLongitude", "GPSLongitudeRef", "W"),
        ) {
            return GeoPoint::new(lat, lng);
        }
        ["GPSCoordinates", "GPSPosition"].iter().find_map(|key| {
            let text = embedded.get(*key)?.as_str()?;
            let mut parts = text
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|p| !p.is_empty());
            let lat = parts.next()?.parse().ok()?;
            let lng = parts.next()?.parse().ok()?;
            GeoPoint::new(lat, lng)
        })
    }

    /// The point on the unit sphere: x towards (0, 0), y towards (0, 90°E), z to the North Pole.
    pub fn unit_vector(self) -> [f64; 3] {
        let (lat, lng) = (self.lat.to_radians(), self.lng.to_radians());
        [lat.cos() * lng.cos(), lat.cos() * lng.sin(), lat.sin()]
    }

    pub fn located(self) -> Located {
        let [x, y, z] = self.unit_vector();
        Located {
            lat: self.lat,
            lng: self.lng,
            x,
            y,
            z,
        }
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A point as the store keeps it (columns `gps_lat` … `gps_z`) and areas test it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Located {
    pub lat: f64,
    pub lng: f64,
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

/// What `"embeddedMetadata.LocationTaken" = "…"` asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum GeoArea {
    /// Within `min_dot` of `centre` (a unit vector): the great-circle distance is at most the
    /// radius. `lat` bounds the band the circle lies in, which lets SQL use an index.
    Circle {
        centre: [f64; 3],
        min_dot: f64,
        lat: (f64, f64),
    },
    /// Latitude and longitude each within their range (the box does not wrap the antimeridian).
    Box { lat: (f64, f64), lng: (f64, f64) },
    /// Inside the polygon by the even-odd rule, in the plane of (longitude, latitude), and
    /// within its bounding box.
    Polygon {
        lat: (f64, f64),
        lng: (f64, f64),
        edges: Vec<Edge>,
    },
}

// Areas are built from parsed finite numbers only, never NaN.
impl Eq for GeoArea {}

/// One polygon edge a ray cast eastwards from a point may cross: the point's latitude is in
/// `[lat_from, lat_to)` and its longitude is below `slope * (lat - lat_at) + lng_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub lat_from: f64,
    pub lat_to: f64,
    pub slope: f64,
    pub lat_at: f64,
    pub lng_at: f64,
}

impl Edge {
    pub fn crossed_by(&self, p: &Located) -> bool {
        p.lat >= self.lat_from
            && p.lat < self.lat_to
            && p.lng < self.slope * (p.lat - self.lat_at) + self.lng_at
    }
}

fn within(value: f64, (low, high): (f64, f64)) -> bool {
    value >= low && value <= high
}

impl GeoArea {
    /// Parses the value of a `LocationTaken` condition; the error says what is wrong.
    pub fn parse(text: &str) -> Result<GeoArea, String> {
        let text = text.trim();
        if text.contains('|') {
            let points = text
                .split('|')
                .map(parse_point)
                .collect::<Result<Vec<_>, _>>()?;
            return match points.len() {
                2 => Ok(GeoArea::Box {
                    lat: ordered(points[0].lat, points[1].lat),
                    lng: ordered(points[0].lng, points[1].lng),
                }),
                n if n > MAX_POLYGON_POINTS => Err(format!(
                    "a polygon has at most {MAX_POLYGON_POINTS} points, this one has {n}"
                )),
                _ => Ok(polygon(&points)),
            };
        }
        // "lat,lng radius": the point ends with the first word after its comma.
        let split = text.find(',').and_then(|comma| {
            let after = &text[comma + 1..];
            let lng_start = comma + 1 + (after.len() - after.trim_start().len());
            let lng_len = text[lng_start..].find(char::is_whitespace)?;
            Some(text.split_at(lng_start + lng_len))
        });
        let Some((point, radius)) = split else {
            return Err(
                "expected \"lat,lng 5km\" (a circle), \"lat,lng|lat,lng\" (a box) or \
                 \"lat,lng|lat,lng|lat,lng…\" (a polygon)"
                    .into(),
            );
        };
        let centre = parse_point(point)?;
        let metres = parse_distance(radius.trim())?;
        Ok(circle(centre, metres))
    }

    pub fn contains(&self, p: &Located) -> bool {
        match self {
            GeoArea::Circle {
                centre,
                min_dot,
                lat,
            } => {
                within(p.lat, *lat)
                    && p.x * centre[0] + p.y * centre[1] + p.z * centre[2] >= *min_dot
            }
            GeoArea::Box { lat, lng } => within(p.lat, *lat) && within(p.lng, *lng),
            GeoArea::Polygon { lat, lng, edges } => {
                within(p.lat, *lat)
                    && within(p.lng, *lng)
                    && edges.iter().filter(|e| e.crossed_by(p)).count() % 2 == 1
            }
        }
    }

    /// The latitudes the area lies within.
    pub fn lat_range(&self) -> (f64, f64) {
        match self {
            GeoArea::Circle { lat, .. }
            | GeoArea::Box { lat, .. }
            | GeoArea::Polygon { lat, .. } => *lat,
        }
    }
}

fn ordered(a: f64, b: f64) -> (f64, f64) {
    if a <= b { (a, b) } else { (b, a) }
}

fn circle(centre: GeoPoint, metres: f64) -> GeoArea {
    let angle = metres / EARTH_RADIUS_M;
    if angle >= std::f64::consts::PI {
        // The whole sphere: every located point.
        return GeoArea::Circle {
            centre: centre.unit_vector(),
            min_dot: f64::MIN,
            lat: (-90.0, 90.0),
        };
    }
    // The band is widened by a hair so rounding never cuts off a point the dot test accepts.
    let band = angle.to_degrees() + 1e-9;
    GeoArea::Circle {
        centre: centre.unit_vector(),
        min_dot: angle.cos(),
        lat: (
            (centre.lat - band).max(-90.0),
            (centre.lat + band).min(90.0),
        ),
    }
}

fn polygon(points: &[GeoPoint]) -> GeoArea {
    let mut lat = (f64::INFINITY, f64::NEG_INFINITY);
    let mut lng = (f64::INFINITY, f64::NEG_INFINITY);
    for p in points {
        lat = (lat.0.min(p.lat), lat.1.max(p.lat));
        lng = (lng.0.min(p.lng), lng.1.max(p.lng));
    }
    let edges = points
        .iter()
        .zip(points.iter().cycle().skip(1))
        .filter(|(a, b)| a.lat != b.lat)
        .map(|(a, b)| {
            let (lat_from, lat_to) = ordered(a.lat, b.lat);
            Edge {
                lat_from,
                lat_to,
                slope: (b.lng - a.lng) / (b.lat - a.lat),
                lat_at: a.lat,
                lng_at: a.lng,
            }
        })
        .collect();
    GeoArea::Polygon { lat, lng, edges }
}

fn parse_point(text: &str) -> Result<GeoPoint, String> {
    let text = text.trim();
    let (lat, lng) = text
        .split_once(',')
        .ok_or_else(|| format!("`{text}` is not a point: expected \"latitude,longitude\""))?;
    let degrees = |part: &str, what: &str| -> Result<f64, String> {
        part.trim()
            .parse::<f64>()
            .ok()
            .filter(|d| d.is_finite())
            .ok_or_else(|| format!("`{}` is not a {what} in degrees", part.trim()))
    };
    let (lat, lng) = (degrees(lat, "latitude")?, degrees(lng, "longitude")?);
    if lat.abs() > 90.0 {
        return Err(format!("latitude {lat} is outside [-90, 90]"));
    }
    if lng.abs() > 180.0 {
        return Err(format!("longitude {lng} is outside [-180, 180]"));
    }
    Ok(GeoPoint { lat, lng })
}

/// `5km`, `500m`, `2.5mi`, `1 km`: a distance in metres.
fn parse_distance(text: &str) -> Result<f64, String> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("`{text}`: a radius needs a unit: m, km or mi"))?;
    let (amount, unit) = text.split_at(split);
    let amount: f64 = amount
        .trim()
        .parse()
        .ok()
        .filter(|a: &f64| a.is_finite() && *a >= 0.0)
        .ok_or_else(|| format!("`{}` is not a distance", amount.trim()))?;
    let metres_per = match unit.to_ascii_lowercase().as_str() {
        "m" => 1.0,
        "km" => 1000.0,
        "mi" => 1609.344,
        other => {
            return Err(format!(
                "`{other}` is not a unit of distance: use m, km or mi"
            ));
        }
    };
    Ok(amount * metres_per)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(lat: f64, lng: f64) -> Located {
        GeoPoint::new(lat, lng).unwrap().located()
    }

    #[test]
    fn exif_hemispheres_make_signs() {
        let map = json!({"GPSLatitude": 33.8, "GPSLatitudeRef": "S", "GPSLongitude": 151.2,
            "GPSLongitudeRef": "E"});
        let p = GeoPoint::from_embedded(map.as_object().unwrap()).unwrap();
        assert_eq!((p.lat, p.lng), (-33.8, 151.2));
        let signed = json!({"GPSLatitude": -33.8, "GPSLongitude": -70.5, "GPSLongitudeRef": "W"});
        let p = GeoPoint::from_embedded(signed.as_object().unwrap()).unwrap();
        assert_eq!((p.lat, p.lng), (-33.8, -70.5));
        let video = json!({"GPSCoordinates": "40.7128 -74.006 10.5"});
        let p = GeoPoint::from_embedded(video.as_object().unwrap()).unwrap();
        assert_eq!((p.lat, p.lng), (40.7128, -74.006));
        for bad in [
            json!({"GPSLatitude": 91, "GPSLongitude": 0}),
            json!({"GPSLatitude": "x", "GPSLongitude": 0}),
            json!({"GPSLatitude": 10}),
            json!({"GPSCoordinates": "north"}),
        ] {
            assert_eq!(
                GeoPoint::from_embedded(bad.as_object().unwrap()),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn circles_measure_great_circle_distance() {
        // Paris to London is about 343.5 km.
        let paris = GeoArea::parse("48.8566,2.3522 344km").unwrap();
        assert!(paris.contains(&at(51.5074, -0.1278)));
        let paris = GeoArea::parse("48.8566,2.3522 343km").unwrap();
        assert!(!paris.contains(&at(51.5074, -0.1278)));
        // Across the antimeridian, and in other units.
        let fiji = GeoArea::parse("-17,179.9 50mi").unwrap();
        assert!(fiji.contains(&at(-17.0, -179.9)));
        assert!(
            GeoArea::parse(" 0,0 10m ")
                .unwrap()
                .contains(&at(0.0, 0.00008))
        );
        assert_eq!(
            GeoArea::parse("0 , 0  10 m").unwrap(),
            GeoArea::parse("0,0 10m").unwrap()
        );
        assert!(
            !GeoArea::parse("0,0 10m")
                .unwrap()
                .contains(&at(0.0, 0.0001))
        );
        assert!(
            GeoArea::parse("0,0 30000km")
                .unwrap()
                .contains(&at(0.0, 180.0))
        );
    }

    #[test]
    fn boxes_and_polygons() {
        let area = GeoArea::parse("40,100|50,105").unwrap();
        assert!(area.contains(&at(45.0, 102.0)));
        assert!(area.contains(&at(40.0, 105.0)));
        assert!(!area.contains(&at(39.9, 102.0)));
        assert_eq!(GeoArea::parse("50,105|40,100").unwrap(), area);
        let square = GeoArea::parse("0,0|0,100|40,100|40,0").unwrap();
        assert!(square.contains(&at(20.0, 50.0)));
        assert!(!square.contains(&at(20.0, 101.0)));
        // A concave "L": the notch is outside.
        let l = GeoArea::parse("0,0|0,10|5,10|5,5|10,5|10,0").unwrap();
        assert!(l.contains(&at(2.0, 8.0)));
        assert!(l.contains(&at(8.0, 2.0)));
        assert!(!l.contains(&at(8.0, 8.0)));
    }

    #[test]
    fn malformed_areas_say_why() {
        for (text, says) in [
            ("40,100", "expected"),
            ("40,100 5", "unit"),
            ("40,100 5ft", "`ft`"),
            ("40,100 -5km", "distance"),
            ("91,0 5km", "latitude 91"),
            ("0,181|1,1", "longitude 181"),
            ("0;0|1,1", "not a point"),
            ("a,0|1,1", "latitude"),
        ] {
            let err = GeoArea::parse(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
        let many = vec!["1,1"; MAX_POLYGON_POINTS + 1].join("|");
        assert!(GeoArea::parse(&many).unwrap_err().contains("at most"));
    }
}
